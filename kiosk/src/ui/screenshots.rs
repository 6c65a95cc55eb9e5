//! `kiosk screenshots`: every screen in every language drawn by Slint's software renderer into a
//! buffer and written as PNG, without a display or a GPU.

use std::cell::Cell;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, Rgb8Pixel};

use super::{AppWindow, LANGUAGES, Navigation, Page, Settings, Status, UiError};

/// The kiosk's screen: 10.1 inch, 1280 x 800.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

/// The screens drawn, with the first part of their file names.
const SCREENS: [(Page, &str); 2] = [(Page::Start, "start"), (Page::Language, "language")];

/// What the pictures show, so they are the same on every run.
#[derive(Debug, Clone)]
pub struct Scene {
    pub village: String,
    pub clock: String,
    pub high_contrast: bool,
    pub large_text: bool,
}

impl Default for Scene {
    fn default() -> Self {
        Scene {
            village: "Groß Vahlberg".into(),
            clock: "09:30".into(),
            high_contrast: false,
            large_text: false,
        }
    }
}

/// A platform with one window that exists only as pixels in memory.
struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    taken: Cell<bool>,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        if self.taken.replace(true) {
            return Err(slint::PlatformError::Other(
                "the screenshot platform has a single window".into(),
            ));
        }
        Ok(self.window.clone())
    }
}

/// Draws every screen in every language into `out` as `<screen>-<language>.png` and returns the
/// files written. Installs the headless platform, so it runs once per process and before any
/// other Slint window.
pub fn write_all(out: &Path, scene: &Scene) -> Result<Vec<PathBuf>, UiError> {
    std::fs::create_dir_all(out).map_err(|source| UiError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    window.set_size(PhysicalSize::new(WIDTH, HEIGHT));
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
        taken: Cell::new(false),
    }))
    .map_err(|e| slint::PlatformError::Other(format!("installing the headless platform: {e}")))?;

    let app = AppWindow::new()?;
    super::init(&app, &scene.village);
    app.global::<Status>()
        .set_clock(scene.clock.as_str().into());
    let settings = app.global::<Settings>();
    settings.set_high_contrast(scene.high_contrast);
    settings.set_large_text(scene.large_text);
    app.show()?;

    let mut written = Vec::new();
    for lang in LANGUAGES {
        super::set_language(&app, lang.code)?;
        for (page, screen) in SCREENS {
            app.global::<Navigation>().set_page(page);
            let pixels = draw(&window);
            let path = out.join(format!("{screen}-{}.png", lang.code));
            write_png(&path, &pixels)?;
            written.push(path);
        }
    }
    app.hide()?;
    Ok(written)
}

/// One full frame of the window.
fn draw(window: &MinimalSoftwareWindow) -> Vec<Rgb8Pixel> {
    slint::platform::update_timers_and_animations();
    window.request_redraw();
    let mut buffer = vec![Rgb8Pixel::default(); (WIDTH * HEIGHT) as usize];
    window.draw_if_needed(|renderer| {
        renderer.render(&mut buffer, WIDTH as usize);
    });
    buffer
}

fn write_png(path: &Path, pixels: &[Rgb8Pixel]) -> Result<(), UiError> {
    let write_error = |source| UiError::Write {
        path: path.to_path_buf(),
        source,
    };
    let png_error = |source| UiError::Png {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(write_error)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(png_error)?;
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    writer.write_image_data(&bytes).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(())
}

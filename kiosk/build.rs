//! Compiles the touch UI (`ui/app.slint`) with its bundled translations (`ui/translations/`).

use slint_build::{CompilerConfiguration, DefaultTranslationContext};

fn main() {
    let config = CompilerConfiguration::new()
        .with_bundled_translations("ui/translations")
        // The .po files carry no context: a text is translated the same wherever it appears.
        .with_default_translation_context(DefaultTranslationContext::None)
        // Element debug info is what the UI tests find elements by accessible label through; the
        // tests link this same library, and the cost is a few strings per element.
        .with_debug_info(true);
    slint_build::compile_with_config("ui/app.slint", config).expect("the kiosk UI compiles");
}

/* A minimal initramfs /init for the qemu boot test (FINDINGS.md: Debian's mkinitramfs takes
 * many minutes under qemu-user; this initramfs is made on the host in a second by
 * images/kiosk-image/build --mini-initrd). It loads the modules listed in /modules.order (one
 * path a line, dependencies first) with finit_module, mounts root= (a /dev path) read-only on
 * /root, moves /dev there and executes /sbin/init (systemd) as PID 1 in the new root.
 * Built static: aarch64-linux-gnu-gcc -static -O2 -o init mini-init.c */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "mini-init: %s: %s\n", what, strerror(errno));
  for (;;) pause();
}

int main(void) {
  mkdir("/dev", 0755);
  mkdir("/proc", 0755);
  if (mount("devtmpfs", "/dev", "devtmpfs", 0, "mode=0755")) die("mount /dev");
  if (mount("proc", "/proc", "proc", 0, NULL)) die("mount /proc");
  FILE *list = fopen("/modules.order", "r");
  char line[512];
  while (list && fgets(line, sizeof line, list)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line) continue;
    int fd = open(line, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST))
      fprintf(stderr, "mini-init: %s: %s\n", line, strerror(errno));
    if (fd >= 0) close(fd);
  }
  /* root=/dev/vdXN from the kernel command line */
  char cmdline[4096] = "", root[256] = "/dev/vda2";
  FILE *c = fopen("/proc/cmdline", "r");
  if (c && fgets(cmdline, sizeof cmdline, c)) {
    char *r = strstr(cmdline, "root=/dev/");
    if (r) sscanf(r + 5, "%255s", root);
  }
  struct stat st;
  for (int i = 0; stat(root, &st) != 0; i++) {
    if (i == 300) die(root); /* 30 s */
    usleep(100000);
  }
  mkdir("/root", 0755);
  if (mount(root, "/root", "ext4", MS_RDONLY, NULL)) die("mount root");
  umount("/proc");
  if (mount("/dev", "/root/dev", NULL, MS_MOVE, NULL)) die("move /dev");
  if (chdir("/root")) die("chdir");
  if (mount(".", "/", NULL, MS_MOVE, NULL)) die("move root");
  if (chroot(".")) die("chroot");
  if (chdir("/")) die("chdir /");
  execl("/sbin/init", "/sbin/init", (char *)NULL);
  die("exec /sbin/init");
  return 1;
}

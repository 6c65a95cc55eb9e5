/* A stand-in for the kiosk binary, used by images/kiosk-image/build when the real arm64 kiosk
 * (target/aarch64-unknown-linux-gnu/{release,debug}/kiosk from images/cross/build) is missing, so
 * the image recipe and the boot test can be tried without building the workspace. It knows the two
 * subcommands the image uses, with the real kiosk's arguments:
 *   kiosk enroll --data-dir DIR --hub URL --code CODE [...]   writes DIR/identity.json
 *   kiosk run --data-dir DIR                                  prints a line, READY=1, then
 *                                                             WATCHDOG=1 every 60 s forever
 * Built static: aarch64-linux-gnu-gcc -static -O2 -o kiosk stand-in-kiosk.c */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void notify(const char *msg) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = 0; /* abstract socket */
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&addr,
         offsetof(struct sockaddr_un, sun_path) + strlen(path));
  close(fd);
}

static const char *arg(int argc, char **argv, const char *name) {
  for (int i = 2; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) return argv[i + 1];
  return NULL;
}

int main(int argc, char **argv) {
  const char *dir = arg(argc, argv, "--data-dir");
  if (argc < 2 || !dir) {
    fprintf(stderr, "usage: kiosk enroll|run --data-dir DIR ...\n");
    return 2;
  }
  if (!strcmp(argv[1], "enroll")) {
    const char *hub = arg(argc, argv, "--hub"), *code = arg(argc, argv, "--code");
    if (!hub || !code) {
      fprintf(stderr, "kiosk enroll: --hub and --code are needed\n");
      return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/identity.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
      perror(path);
      return 1;
    }
    fprintf(f, "{\"stand_in\": true, \"hub\": \"%s\"}\n", hub);
    fclose(f);
    printf("stand-in kiosk: enrolled with %s\n", hub);
    return 0;
  }
  if (!strcmp(argv[1], "run")) {
    printf("stand-in kiosk: running, data in %s\n", dir);
    fflush(stdout);
    notify("READY=1");
    for (;;) {
      sleep(60);
      notify("WATCHDOG=1");
    }
  }
  fprintf(stderr, "kiosk: unknown subcommand %s\n", argv[1]);
  return 2;
}

// Preloaded into a child node by signal-guard.test.ts: 300 ms after start it installs a SIGTERM handler
// that swallows the signal, as NVRTC does during a CUDA JIT compile; with HIJACK_IGNORE=1 it sets SIGTERM
// to SIG_IGN instead.
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void swallow(int sig) { (void)sig; }

static void* later(void* arg) {
  (void)arg;
  usleep(300 * 1000);
  struct sigaction a;
  memset(&a, 0, sizeof a);
  const char* ignore = getenv("HIJACK_IGNORE");
  a.sa_handler = ignore && strcmp(ignore, "1") == 0 ? SIG_IGN : swallow;
  sigaction(SIGTERM, &a, NULL);
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, later, NULL) == 0) pthread_detach(t);
}

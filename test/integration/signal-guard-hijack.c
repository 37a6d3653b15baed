// Preloaded into a child node by signal-guard.test.ts: 300 ms after start it takes SIGTERM the way a
// library would. HIJACK_MODE (default "swallow"):
//   swallow  a handler that swallows the signal, as NVRTC does during a CUDA JIT compile
//   ignore   SIG_IGN
//   restore  Node's own handler put back through signal(), which drops its SA_RESETHAND: Node's
//            SignalExit then re-raises into itself forever (what the H100 showed after NVRTC's first compile)
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void swallow(int sig) { (void)sig; }

static void* later(void* arg) {
  (void)arg;
  usleep(300 * 1000);
  const char* mode = getenv("HIJACK_MODE");
  if (mode && strcmp(mode, "restore") == 0) {
    struct sigaction node;
    sigaction(SIGTERM, NULL, &node);
    signal(SIGTERM, (void (*)(int))(void*)node.sa_sigaction);
    return NULL;
  }
  struct sigaction a;
  memset(&a, 0, sizeof a);
  a.sa_handler = mode && strcmp(mode, "ignore") == 0 ? SIG_IGN : swallow;
  sigaction(SIGTERM, &a, NULL);
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, later, NULL) == 0) pthread_detach(t);
}

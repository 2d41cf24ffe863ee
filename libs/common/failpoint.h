// Failpoints: named places where the chaos suite (tests/chaos) makes a real fault happen, such as
// a kill -9 of the service between a commit and its ack. They exist only in test builds
// (cmake -DKILN_FAILPOINTS=ON, which `make test` uses); in any other build KILN_FAILPOINT(name)
// compiles to nothing, so a release binary has no way to be told to misbehave.
//
// Armed by the environment of the process:
//   KILN_FAILPOINTS=name=action[,name=action...]
// where action is `kill` (SIGKILL to the own process: no destructors, no flush, no ack),
// `sleep:<ms>`, or `<n>*action` to act only on the n-th time the point is reached (1-based).
// Each point that acts writes one line to stderr first, so a test can see it was reached.
#pragma once

#ifdef KILN_FAILPOINTS
namespace kiln::failpoint {
// Acts when `name` is armed for this hit; otherwise returns at once.
void hit(const char* name);
}  // namespace kiln::failpoint
#define KILN_FAILPOINT(name) ::kiln::failpoint::hit(name)
#else
#define KILN_FAILPOINT(name) \
  do {                       \
  } while (false)
#endif

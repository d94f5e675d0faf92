#include "process_limits.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int fcn_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/// Lowers `resource` to `soft` and `hard`, or to the hard limit already in force when that is
/// lower (a process may not raise it: under `ulimit -v`, the tighter limit stays).
static int lower_limit(int resource, rlim_t soft, rlim_t hard) {
    struct rlimit current;
    if (getrlimit(resource, &current) != 0) return -1;
    if (current.rlim_max != RLIM_INFINITY) {
        if (hard > current.rlim_max) hard = current.rlim_max;
        if (soft > hard) soft = hard;
    }
    struct rlimit limit = {soft, hard};
    return setrlimit(resource, &limit);
}

int fcn_limit_resources(unsigned long long memory_bytes, unsigned long long cpu_seconds) {
    if (lower_limit(RLIMIT_AS, memory_bytes, memory_bytes) != 0) return -1;
    return lower_limit(RLIMIT_CPU, cpu_seconds, cpu_seconds + 1);
}

#include "process_limits.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int fcn_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int fcn_limit_resources(unsigned long long memory_bytes, unsigned long long cpu_seconds) {
    struct rlimit memory = {memory_bytes, memory_bytes};
    struct rlimit cpu = {cpu_seconds, cpu_seconds + 1};
    if (setrlimit(RLIMIT_AS, &memory) != 0) return -1;
    return setrlimit(RLIMIT_CPU, &cpu);
}

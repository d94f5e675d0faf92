// CProcessLimits: the Linux calls the isolated model reader makes on itself, which Swift cannot
// import as they are (prctl is variadic; the rlimit resources are an enum Swift imports badly).
#ifndef CPROCESS_LIMITS_H
#define CPROCESS_LIMITS_H

/// Asks the kernel to kill this process with SIGKILL when its parent dies; 0 on success.
int fcn_die_with_parent(void);

/// Caps this process's address space (RLIMIT_AS) at `memory_bytes` and its CPU time
/// (RLIMIT_CPU) at `cpu_seconds` (SIGXCPU, then SIGKILL a second later); 0 on success.
int fcn_limit_resources(unsigned long long memory_bytes, unsigned long long cpu_seconds);

#endif

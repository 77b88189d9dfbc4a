// Linux interfaces Swift cannot call directly: variadic functions (prctl) get fixed-arity
// wrappers here. libc only.
#ifndef FTINIT_CLINUX_H
#define FTINIT_CLINUX_H
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <fcntl.h>

#include <sys/socket.h>

// pipe2 and accept4 are GNU extensions the Glibc module does not export.
int pipe2(int pipefd[2], int flags);
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

/// Accepts a connection as a non-blocking, close-on-exec descriptor, atomically.
static inline int ftinit_accept_nonblocking(int fd) {
    return accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/// A pipe whose both ends are close-on-exec, created atomically.
static inline int ftinit_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

/// Who is at the other end of a connected unix socket (SO_PEERCRED), as the kernel recorded
/// it at connect time. struct ucred is a GNU extension the Glibc module does not export; this
/// is its layout (pid, uid, gid), the same in glibc, musl and the kernel.
struct ftinit_peer { int pid; unsigned int uid; unsigned int gid; };

static inline int ftinit_peer_credentials(int fd, struct ftinit_peer *peer) {
    socklen_t length = sizeof *peer;
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, peer, &length);
}

// close_range (glibc 2.34) is a GNU extension the Glibc module does not export either.
int close_range(unsigned int first, unsigned int last, int flags);

/// Closes every descriptor from `first` up, in one call; -1 with errno when the kernel
/// (before 5.9) does not have it.
static inline int ftinit_close_from(int first) {
    return close_range((unsigned int)first, ~0U, 0);
}

// O_PATH is a GNU extension fcntl.h hides too: its value on the architectures ftinit is built
// for (x86_64 and aarch64 take it from the kernel's asm-generic/fcntl.h).
#define FTINIT_O_PATH 010000000

static inline int ftinit_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}
#endif

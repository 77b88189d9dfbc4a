/* The service every init supervises in bench/compare.py: records CLOCK_MONOTONIC (ns) events.
 *   svc serve LOG [PORT]    append "start NS" to LOG; "usr1 NS" / "hup NS" from the signal handler;
 *                           exit 0 at once on TERM/INT/QUIT; accept (and close) on 127.0.0.1:PORT
 *   svc orphans N LOG       as serve, after making N orphans that exit together, and timing
 *                           until this PID namespace's /proc lists no more than before
 *   svc launch LOG CMD...   append "launch NS" to LOG, then exec CMD (the init under test)
 * Run as `run` (./run of s6-supervise or runsv), the arguments are read, one per line, from
 * ./svc.args. */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;

static void record(const char *what, long long extra) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    char line[96], digits[24];
    int n = 0, d;
    for (const char *p = what; *p; p++) line[n++] = *p;
    line[n++] = ' ';
    long long values[2] = {ns, extra};
    for (int v = 0; v < (extra >= 0 ? 2 : 1); v++) {
        long long x = values[v];
        d = 0;
        do { digits[d++] = '0' + (int)(x % 10); x /= 10; } while (x);
        while (d) line[n++] = digits[--d];
        line[n++] = v == 0 && extra >= 0 ? ' ' : '\n';
    }
    if (write(log_fd, line, n) < 0) _exit(2);
}

static void on_signal(int sig) {
    if (sig == SIGUSR1) record("usr1", -1);
    else if (sig == SIGHUP) record("hup", -1);
    else { record("term", -1); _exit(0); }
}

static int count_pids(void) {
    DIR *dir = opendir("/proc");
    int count = 0;
    struct dirent *entry;
    if (!dir) return -1;
    while ((entry = readdir(dir)))
        if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9') count++;
    closedir(dir);
    return count;
}

static void orphans(int n) {
    int before = count_pids(), fds[2];
    if (pipe(fds) < 0) _exit(3);
    pid_t middle = fork();
    if (middle == 0) {
        close(fds[0]);
        int pipe_in[2];
        if (pipe(pipe_in) < 0) _exit(3);
        for (int i = 0; i < n; i++) {
            pid_t child = fork();
            if (child == 0) { char c; close(pipe_in[1]); while (read(pipe_in[0], &c, 1) < 0) {} _exit(0); }
            if (child < 0) { record("fork-failed", i); break; }
        }
        record("released", n);
        _exit(0); /* closes pipe_in[1]: every child reads EOF and exits, an orphan of PID 1 */
    }
    close(fds[1]);
    waitpid(middle, NULL, 0);
    struct timespec pause = {0, 200000}, start, now_ts;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do { /* for at most a minute */
        int now = count_pids();
        if (now <= before) { record("reaped", now); return; }
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now_ts);
    } while (now_ts.tv_sec - start.tv_sec < 60);
    record("not-reaped", count_pids() - before);
}

int main(int argc, char **argv) {
    char *args_buffer[8];
    static char text[4096];
    const char *base = strrchr(argv[0], '/');
    if (strcmp(base ? base + 1 : argv[0], "run") == 0) { /* ./run of s6 (which adds the name) or runit */
        int fd = open("svc.args", O_RDONLY);
        ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
        if (len <= 0) return 64;
        text[len] = 0;
        argc = 1;
        args_buffer[0] = argv[0];
        for (char *line = strtok(text, "\n"); line && argc < 7; line = strtok(NULL, "\n")) args_buffer[argc++] = line;
        args_buffer[argc] = NULL;
        argv = args_buffer;
    }
    if (argc < 3) return 64;
    if (strcmp(argv[1], "launch") == 0) {
        log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
        record("launch", -1);
        close(log_fd);
        execvp(argv[3], argv + 3);
        return 127;
    }
    const char *log = strcmp(argv[1], "orphans") == 0 ? argv[3] : argv[2];
    log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log_fd < 0) return 73;
    record("start", -1);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    int sigs[] = {SIGUSR1, SIGHUP, SIGTERM, SIGINT, SIGQUIT};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &action, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (strcmp(argv[1], "orphans") == 0) orphans(atoi(argv[2]));
    if (strcmp(argv[1], "serve") == 0 && argc > 3) {
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3])),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 16) < 0) return 71;
        for (;;) { int c = accept(s, NULL, NULL); if (c >= 0) close(c); }
    }
    for (;;) pause();
}

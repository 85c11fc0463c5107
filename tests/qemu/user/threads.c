/* Threads: pthread_create/join (clone with CLONE_THREAD|SETTLS|
 * CHILD_CLEARTID, futex wake on exit), a mutex under contention and a
 * condition variable ping-pong (futex wait/wake/requeue), thread-local
 * storage, and exit_group from a second thread. Lines start with "T: ". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static __thread int tls_value = 11;
static pid_t main_tid;

static void* adder(void* arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    tls_value += 1;
    return (void*)(long)(tls_value + (syscall(SYS_gettid) != main_tid ? 100 : 0));
}

static void* ponger(void* arg)
{
    int me = (int)(long)arg;
    for (int round = 0; round < 200; round++) {
        pthread_mutex_lock(&lock);
        while (turn != me)
            pthread_cond_wait(&turn_changed, &lock);
        turn = 1 - me;
        pthread_cond_broadcast(&turn_changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void* exiter(void* arg)
{
    (void)arg;
    usleep(1000);
    exit(17); /* exit_group: ends the main thread sleeping in pthread_join too */
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    main_tid = syscall(SYS_gettid);
    pthread_t a, b;
    pthread_create(&a, NULL, adder, (void*)200000L);
    pthread_create(&b, NULL, adder, (void*)200000L);
    void* ra;
    void* rb;
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    printf("T: counter %ld, thread results %ld %ld, main tls %d\n", counter, (long)ra, (long)rb, tls_value);

    pthread_t p, q;
    pthread_create(&p, NULL, ponger, (void*)0L);
    pthread_create(&q, NULL, ponger, (void*)1L);
    pthread_join(p, NULL);
    pthread_join(q, NULL);
    printf("T: ping-pong done, turn %d\n", turn);

    pthread_t many[8];
    counter = 0;
    for (int i = 0; i < 8; i++)
        pthread_create(&many[i], NULL, adder, (void*)5000L);
    for (int i = 0; i < 8; i++)
        pthread_join(many[i], NULL);
    printf("T: 8 threads, counter %ld\n", counter);

    pthread_t e;
    pthread_create(&e, NULL, exiter, NULL);
    pthread_join(e, NULL);
    printf("T: not reached\n");
    return 0;
}

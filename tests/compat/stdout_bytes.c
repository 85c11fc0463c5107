/* Output is byte-exact: every byte value, carriage returns and newlines
 * in every order, a long write, and no final newline; stderr separately. */
#include <string.h>
#include <unistd.h>

static void put(const void* data, size_t length)
{
    const char* p = data;
    while (length > 0) {
        ssize_t n = write(1, p, length);
        if (n <= 0)
            _exit(1);
        p += n;
        length -= (size_t)n;
    }
}

int main(void)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    put(all, sizeof all);
    put("\r\n\n\r\r\n", 6);
    static char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = "0123456789abcdef\n"[i % 17];
    put(big, sizeof big);
    const char* err = "this goes to stderr\n";
    (void)!write(2, err, strlen(err));
    put("no newline at the end", 21);
    return 3;
}

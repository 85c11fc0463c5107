/* ioctl(2) request numbers Sluice's files answer (asm-generic/ioctl.h,
 * asm-generic/ioctls.h, linux/fs.h). Numbers are written out rather than
 * built with _IOR(): a libc defines its own _IOC macros, spelled differently.
 * The encoding, for reading them: bits 31-30 direction (2 = read, 1 = write,
 * 3 = both), 29-16 argument size, 15-8 type, 7-0 number. */
#ifndef SLUICE_UAPI_IOCTL_H
#define SLUICE_UAPI_IOCTL_H
#pragma GCC system_header

#define SLUICE_IOC_NRSHIFT 0
#define SLUICE_IOC_TYPESHIFT 8
#define SLUICE_IOC_SIZESHIFT 16
#define SLUICE_IOC_DIRSHIFT 30
#define SLUICE_IOC_SIZE(nr) (((nr) >> SLUICE_IOC_SIZESHIFT) & 0x3fffu)
#define SLUICE_IOC_DIR(nr) (((nr) >> SLUICE_IOC_DIRSHIFT) & 0x3u)
#define SLUICE_IOC_WRITE 1u /* the caller passes data in */
#define SLUICE_IOC_READ 2u  /* the kernel writes data out */

/* tty (type 'T', historical numbers without direction or size) */
#define TCGETS 0x5401
#define TCSETS 0x5402
#define TCSETSW 0x5403
#define TCSETSF 0x5404
#define TCGETA 0x5405
#define TCSETA 0x5406
#define TCSETAW 0x5407
#define TCSETAF 0x5408
#define TCSBRK 0x5409
#define TCXONC 0x540A
#define TCFLSH 0x540B
#define TIOCEXCL 0x540C
#define TIOCNXCL 0x540D
#define TIOCSCTTY 0x540E
#define TIOCGPGRP 0x540F
#define TIOCSPGRP 0x5410
#define TIOCOUTQ 0x5411
#define TIOCSTI 0x5412
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define TIOCMGET 0x5415
#define TIOCMBIS 0x5416
#define TIOCMBIC 0x5417
#define TIOCMSET 0x5418
#define TIOCGSOFTCAR 0x5419
#define TIOCSSOFTCAR 0x541A
#define FIONREAD 0x541B
#define TIOCINQ FIONREAD
#define TIOCLINUX 0x541C
#define TIOCCONS 0x541D
#define TIOCPKT 0x5420
#define FIONBIO 0x5421
#define TIOCNOTTY 0x5422
#define TIOCSETD 0x5423
#define TIOCGETD 0x5424
#define TCSBRKP 0x5425
#define TIOCSBRK 0x5427
#define TIOCCBRK 0x5428
#define TIOCGSID 0x5429
#define TCGETS2 0x802c542a  /* _IOR('T', 0x2A, struct termios2) */
#define TCSETS2 0x402c542b  /* _IOW('T', 0x2B, struct termios2) */
#define TCSETSW2 0x402c542c /* _IOW('T', 0x2C, struct termios2) */
#define TCSETSF2 0x402c542d /* _IOW('T', 0x2D, struct termios2) */
#define TIOCGPTN 0x80045430   /* _IOR('T', 0x30, unsigned int) */
#define TIOCSPTLCK 0x40045431 /* _IOW('T', 0x31, int) */
#define TIOCSIG 0x40045436    /* _IOW('T', 0x36, int) */
#define TIOCVHANGUP 0x5437
#define TIOCGPKT 0x80045438   /* _IOR('T', 0x38, int) */
#define TIOCGPTLCK 0x80045439 /* _IOR('T', 0x39, int) */
#define TIOCGEXCL 0x80045440  /* _IOR('T', 0x40, int) */

/* any file */
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451
#define FIOASYNC 0x5452

/* block devices (type 0x12) */
#define BLKROSET 0x125d
#define BLKROGET 0x125e
#define BLKRRPART 0x125f
#define BLKGETSIZE 0x1260 /* size in 512-byte sectors, unsigned long */
#define BLKFLSBUF 0x1261
#define BLKRASET 0x1262
#define BLKRAGET 0x1263
#define BLKSSZGET 0x1268        /* logical sector size, int */
#define BLKBSZGET 0x80081270    /* _IOR(0x12, 112, size_t) */
#define BLKBSZSET 0x40081271    /* _IOW(0x12, 113, size_t) */
#define BLKGETSIZE64 0x80081272 /* _IOR(0x12, 114, size_t): size in bytes, u64 */
#define BLKDISCARD 0x1277
#define BLKIOMIN 0x1278
#define BLKIOOPT 0x1279
#define BLKALIGNOFF 0x127a
#define BLKPBSZGET 0x127b /* physical sector size, unsigned int */
#define BLKDISCARDZEROES 0x127c
#define BLKROTATIONAL 0x127e
#define BLKZEROOUT 0x127f

/* filesystems */
#define FS_IOC_GETFLAGS 0x80086601 /* _IOR('f', 1, long) */
#define FS_IOC_SETFLAGS 0x40086602 /* _IOW('f', 2, long) */
#define FIFREEZE 0xc0045877        /* _IOWR('X', 119, int) */
#define FITHAW 0xc0045878          /* _IOWR('X', 120, int) */

#endif

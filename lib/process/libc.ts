/**
 * What the modules calling libc through Deno's FFI share: how a call's result is declared and read, and
 * C strings.
 * @module
 */

/**
 * The result of a call returning an `int`, declared as a struct of one int32 (and an `ssize_t` as one of an
 * isize). Both targets return such a struct in the register the plain type comes back in (x86-64 System V:
 * rax; AAPCS64: x0), and a struct-typed symbol is one Deno does not compile a fast-call trampoline for
 * (Cranelift) when the library is opened. Opening libc with the eight calls of lib/process/spawn.ts took
 * 3.3 ms instead of 4.9 in `create` (40 creates in turns). A call's result comes back as its bytes: see
 * {@link int}. The running proxy's calls (lib/process/fifo_wait.ts), made all day, are declared plain instead.
 */
export const INT = { struct: ["i32"] } as const;
export const SSIZE = { struct: ["isize"] } as const;

/**
 * The value of an {@link INT} result, or of an {@link SSIZE} one that fits 32 bits (little-endian on both
 * targets: its low half).
 *
 * @example
 * ```ts
 * if (int(libc.close(fd)) !== 0) console.error("close failed");
 * ```
 */
export function int(result: Uint8Array): number {
  return new DataView(result.buffer, result.byteOffset, 4).getInt32(0, true);
}

/**
 * Flags of open(2) (pipe2(2) and inotify_init1(2) take the same values) and poll(2)'s readable event: Linux
 * values, the same on x86_64 and aarch64.
 */
export const O_RDONLY = 0o0;
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const POLLIN = 0x1;

const ENCODER = new TextEncoder();

/**
 * `text` as a NUL-terminated C string.
 *
 * @example
 * ```ts
 * libc.mkfifo(cString("/run/x/wake"), 0o600);
 * ```
 */
export function cString(text: string): Uint8Array {
  return ENCODER.encode(text + "\0");
}

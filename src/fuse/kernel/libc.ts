import { dlopen, FFIType, ptr, read as readMemory } from "bun:ffi";

// The few libc calls the device loop needs, through bun:ffi. Each wrapper returns the raw result
// and reads errno right after the call, before anything else can overwrite it.

const lib = dlopen("libc.so.6", {
  open: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  writev: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
  mount: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  umount2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  getuid: { args: [], returns: FFIType.u32 },
  gettid: { args: [], returns: FFIType.i32 },
  // Variadic in C; every use here passes one integer (a pointer travels as its address).
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.i32 },
  socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  recvmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
  __errno_location: { args: [], returns: FFIType.ptr },
});

export const O_RDWR = 0o2;
export const O_CLOEXEC = 0o2000000;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_RDONLY = 1;
export const MNT_DETACH = 2;
export const EINTR = 4;
export const ENOENT = 2;
export const EAGAIN = 11;
export const ENODEV = 19;
export const EINVAL = 22;
export const ECONNABORTED = 103;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;
/** CMSG_SPACE(sizeof(int)): a 16-byte cmsghdr and the int, padded to 8 bytes. */
const CMSG_SPACE_ONE_FD = 24;

/** A NUL-terminated copy of `text` for a `const char *` argument. */
export function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

function errno(): number {
  const where = lib.symbols.__errno_location();
  return where === null ? 0 : readMemory.i32(where, 0);
}

/** A syscall's result, or its errno when it failed (result < 0). */
export interface SysResult {
  value: number;
  errno: number;
}

function result(value: number | bigint): SysResult {
  const n = Number(value);
  return n < 0 ? { value: n, errno: errno() } : { value: n, errno: 0 };
}

export function sysOpen(path: string, flags: number): SysResult {
  return result(lib.symbols.open(cString(path), flags, 0));
}

export function sysClose(fd: number): SysResult {
  return result(lib.symbols.close(fd));
}

/** One request from the kernel (blocking unless the fd is non-blocking: then EAGAIN when none waits). */
export function sysRead(fd: number, into: Uint8Array): SysResult {
  return result(lib.symbols.read(fd, into, into.byteLength));
}

export function sysWrite(fd: number, bytes: Uint8Array): SysResult {
  return result(lib.symbols.write(fd, bytes, bytes.byteLength));
}

/** One write of `parts` in order (struct iovec: base pointer, length; 64-bit Linux). */
export function sysWritev(fd: number, parts: readonly Uint8Array[]): SysResult {
  const iov = new BigUint64Array(parts.length * 2);
  for (const [i, part] of parts.entries()) {
    // ptr() of an empty view is not a valid pointer; a zero-length iovec ignores its base.
    iov[2 * i] = part.byteLength === 0 ? 0n : BigInt(ptr(part));
    iov[2 * i + 1] = BigInt(part.byteLength);
  }
  return result(lib.symbols.writev(fd, iov, parts.length));
}

export function sysMount(args: { source: string; target: string; fsType: string; flags: number; data: string }): SysResult {
  return result(lib.symbols.mount(cString(args.source), cString(args.target), cString(args.fsType), args.flags, cString(args.data)));
}

export function sysUmount2(target: string, flags: number): SysResult {
  return result(lib.symbols.umount2(cString(target), flags));
}

/** A connected pair of unix sockets, both close-on-exec; `seqpacket` keeps each write one message, as /dev/fuse does. */
export function sysSocketpair(kind: "stream" | "seqpacket" = "stream"): { fds: [number, number]; errno: number } {
  const fds = new Int32Array(2);
  const type = kind === "stream" ? SOCK_STREAM : SOCK_SEQPACKET;
  const { value, errno } = result(lib.symbols.socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds));
  return { fds: [fds[0]!, fds[1]!], errno: value < 0 ? errno : 0 };
}

/**
 * Receives one file descriptor passed over a unix socket (SCM_RIGHTS), without blocking: null
 * when none is waiting. struct msghdr and struct cmsghdr are laid out for 64-bit Linux.
 */
export function sysRecvFd(socket: number): number | null {
  const data = new Uint8Array(8);
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.byteLength)]);
  const control = new Uint8Array(CMSG_SPACE_ONE_FD);
  const msg = new DataView(new ArrayBuffer(56));
  msg.setBigUint64(16, BigInt(ptr(iov)), true); // msg_iov
  msg.setBigUint64(24, 1n, true); // msg_iovlen
  msg.setBigUint64(32, BigInt(ptr(control)), true); // msg_control
  msg.setBigUint64(40, BigInt(control.byteLength), true); // msg_controllen
  const received = Number(lib.symbols.recvmsg(socket, new Uint8Array(msg.buffer), MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  if (received < 0) return null;
  const cmsg = new DataView(control.buffer);
  const cmsgLen = Number(cmsg.getBigUint64(0, true));
  if (cmsgLen < 20 || cmsg.getInt32(8, true) !== SOL_SOCKET || cmsg.getInt32(12, true) !== SCM_RIGHTS) return null;
  return cmsg.getInt32(16, true);
}

const F_GETFL = 3;
const F_SETFL = 4;
const F_SETOWN_EX = 15;
const F_OWNER_TID = 0;
const O_NONBLOCK = 0o4000;
const O_ASYNC = 0o20000;

/**
 * Makes `fd` non-blocking and, when `signalThisThread`, has the kernel send SIGIO to the calling
 * thread each time it becomes readable (O_ASYNC, F_SETOWN_EX to this thread's id); otherwise
 * turns that off again (the fd stays non-blocking).
 */
export function sysSetAsync(fd: number, signalThisThread: boolean): SysResult {
  if (signalThisThread) {
    const owner = new Int32Array([F_OWNER_TID, lib.symbols.gettid()]);
    const owned = result(lib.symbols.fcntl(fd, F_SETOWN_EX, BigInt(ptr(owner))));
    if (owned.value < 0) return owned;
  }
  const flags = result(lib.symbols.fcntl(fd, F_GETFL, 0n));
  if (flags.value < 0) return flags;
  const next = signalThisThread ? flags.value | O_NONBLOCK | O_ASYNC : (flags.value | O_NONBLOCK) & ~O_ASYNC;
  return result(lib.symbols.fcntl(fd, F_SETFL, BigInt(next)));
}

export function sysGetuid(): number {
  return lib.symbols.getuid();
}

/** The name of an errno for messages ("ENODEV (19)"). */
export function errnoName(n: number): string {
  const names: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 4: "EINTR", 11: "EAGAIN", 13: "EACCES", 16: "EBUSY", 19: "ENODEV", 22: "EINVAL", 103: "ECONNABORTED" };
  return `${names[n] ?? "errno"} (${n})`;
}

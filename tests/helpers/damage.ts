import { open } from 'node:fs/promises';

/** Damage a stored file the way bit rot does: one byte at `at` XOR `mask`, in place, nothing else touched. */
export async function flipByte(path: string, at: number, mask = 0x20): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await handle.read(b, 0, 1, at);
    b[0] = b[0]! ^ mask;
    await handle.write(b, 0, 1, at);
  } finally {
    await handle.close();
  }
}

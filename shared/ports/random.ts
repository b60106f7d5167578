/**
 * mulberry32: a small, fast, well-mixed 32-bit PRNG; the same seed gives the same sequence everywhere.
 * For what must be random-looking yet reproducible: the demo's population, the AWS twin's delivery delays.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

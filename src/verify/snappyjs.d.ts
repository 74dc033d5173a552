// snappyjs ships no type declarations. Only the block-format functions exist in it (no framed
// format), which is what the remote-write spec requires.
declare module 'snappyjs' {
  interface SnappyJS {
    compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
    /** Throws on a corrupt input, or when the uncompressed length would exceed `maxLength`. */
    uncompress<T extends Uint8Array | ArrayBuffer>(input: T, maxLength?: number): T;
  }
  const snappy: SnappyJS;
  export default snappy;
}

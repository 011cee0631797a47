// fontverter 2.x (subset-font's converter) ships no types; tests use it to unpack WOFF2.
declare module 'fontverter' {
  const fontverter: {
    convert(font: Buffer, to: 'truetype' | 'sfnt' | 'woff' | 'woff2', from?: string): Promise<Buffer>;
  };
  export default fontverter;
}

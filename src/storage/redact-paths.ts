/**
 * Filesystem paths out of text that leaves the server's own logs: reasons recorded in events
 * (which every replica, export and provenance view carries for decades) and messages shown to
 * clients. A path names the data directory, the staging folder and the server's pid; only its
 * last component helps a reader ("tiles.zip: write error"), so each absolute path becomes
 * "…/last-component". A path starts after a line start, a space, a quote, a bracket or "=",
 * so that URLs ("https://…") and IIIF requests ("0,0,256,256/256,/0/default.jpg") stay whole.
 */
const ABSOLUTE_PATH = /(^|[\s'"`(\[=])(?:file:\/\/)?\/(?:[^\s'"`()\[\]/]+\/)+([^\s'"`()\[\]/]*)/gm;

export function redactPaths(text: string): string {
  return text.replace(ABSOLUTE_PATH, (_match, before: string, last: string) => `${before}…/${last}`);
}

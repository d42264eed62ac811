import { readFile, stat } from "node:fs/promises";
import { DATALAYOUT, inlineXattrs, lookup, readLayout, XATTR_LONG_PREFIX } from "./erofsLayout.js";
import { fingerprintKey, type ImageFormat } from "./fingerprintKey.js";

/** What the image says about one file, when the tool can read it: data inline in the inode, a fingerprint xattr. */
export interface FileLayout {
  inline: boolean;
  fingerprint: boolean;
}

/** Larger images are not read whole into memory: their files' causes fall back to what the manifest shows. */
const MAX_IMAGE_BYTES = 1536 * 2 ** 20;

/**
 * What an image says about each of its files that decides whether the file
 * can share: data inline in the inode (FLAT_INLINE: the tail lives in the
 * metadata block, not in a page of its own) and an inline fingerprint xattr
 * under the series' key. Undefined for a file the reader cannot find, or for
 * every file when the image is too large or of no known format. Files are
 * named by their manifest key (pathKey: the name's bytes in hex).
 */
export async function imageFileLayouts(
  image: string,
  format: ImageFormat | undefined,
): Promise<(key: string) => FileLayout | undefined> {
  if (!format || (await stat(image)).size > MAX_IMAGE_BYTES) return () => undefined;
  const img = new Uint8Array(await readFile(image));
  const layout = readLayout(img);
  let prefixId: number | undefined;
  try {
    prefixId = fingerprintKey(img, format, layout).prefixId;
  } catch {
    // an image without fingerprints: every file lacks one
  }
  return (key) => {
    try {
      const inode = lookup(img, Buffer.from(key, "hex").toString("utf8"), layout);
      const fingerprint =
        prefixId !== undefined &&
        inlineXattrs(img, inode).entries.some((e) => e.nameIndex === (XATTR_LONG_PREFIX | prefixId) && e.nameLen === 0);
      return { inline: inode.datalayout === DATALAYOUT.flatInline, fingerprint };
    } catch {
      return undefined;
    }
  };
}

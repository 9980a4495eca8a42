/**
 * An image folder as a source: one sub-folder per class (the class is the sub-folder's name), PNG
 * and JPEG files in each. The main and the --test folder are read together because one size and
 * one channel count must fit both: without --size every image must have the same size, and
 * without --channels the data is grey only when every image is.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { convertChannels, decodeImage, resizeImage, sniffImage, type DecodedImage } from '../decode/image.ts';
import { readBytes, resolvePath, type RawSource } from './source.ts';

export interface ImageOptions {
  /** Resize every image to this size (bilinear). */
  readonly size?: { readonly width: number; readonly height: number };
  readonly channels?: 1 | 3;
}

interface ScannedImage {
  readonly label: string;
  /** The path as shown in messages. */
  readonly file: string;
  /** Pixels at the target size; null once sizes differ without --size (an error follows). */
  readonly image: DecodedImage | null;
  readonly channels: 1 | 3;
  readonly resized: boolean;
  readonly format: 'png' | 'jpeg';
}

interface Scanned {
  readonly path: string;
  readonly classes: readonly string[];
  readonly images: readonly ScannedImage[];
}

/** Per size `WxH`, how many images have it and the first one found. */
type SizeTally = Map<string, { count: number; example: string }>;

const LISTED = 6;

function listing(items: readonly string[]): string {
  return items.length > LISTED
    ? `${items.slice(0, LISTED).join(', ')} (and ${items.length - LISTED} more)`
    : items.join(', ');
}

/** Class folders sorted numerically when every name is an integer (0, 1, …, 10), else by name. */
export function sortNames(names: readonly string[]): string[] {
  const numeric = names.every((n) => /^-?\d+$/.test(n));
  return [...names].sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
}

function entries(dir: string, shown: string): Result<{ name: string; dir: boolean }[]> {
  try {
    return ok(
      readdirSync(dir, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.'))
        .map((e) => ({ name: e.name, dir: e.isDirectory() }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );
  } catch (thrown) {
    return fail('E_IO', `Cannot list ${shown}: ${(thrown as Error).message}`);
  }
}

/**
 * Reads and decodes every image of one folder. With a target size each image is resized as soon as
 * it is decoded, so memory holds only target-size pixels however large the photos are.
 */
function scan(path: string, cwd: string, size: ImageOptions['size'], sizes: SizeTally): Result<Scanned> {
  const root = resolvePath(path, cwd);
  const top = entries(root, path);
  if (!top.ok) return top;
  const stray = top.value.filter((e) => !e.dir).map((e) => join(path, e.name));
  if (stray.length > 0) {
    return fail(
      'E_DATASET',
      `${path} holds ${stray.length} file${stray.length > 1 ? 's' : ''} outside the class sub-folders: ${listing(stray)}.`,
      'Put each image in a sub-folder named after its class (e.g. photos/cat/1.png), and move other files out (names starting with "." are ignored).',
    );
  }
  const classes = sortNames(top.value.map((e) => e.name));
  if (classes.length === 0) {
    return fail(
      'E_DATASET',
      `${path} has no class sub-folders.`,
      'An image folder needs one sub-folder per class, holding that class’s PNG or JPEG files.',
    );
  }
  const images: ScannedImage[] = [];
  const notImages: string[] = [];
  const nested: string[] = [];
  for (const label of classes) {
    const inner = entries(join(root, label), join(path, label));
    if (!inner.ok) return inner;
    for (const e of inner.value) {
      const file = join(path, label, e.name);
      if (e.dir) {
        nested.push(file);
        continue;
      }
      const bytes = readBytes(join(root, label, e.name), cwd, 'image');
      if (!bytes.ok) return bytes;
      const format = sniffImage(bytes.value);
      if (format === null) {
        notImages.push(file);
        continue;
      }
      const decoded = decodeImage(bytes.value, file);
      if (!decoded.ok) return decoded;
      const { width, height, channels } = decoded.value;
      const key = `${width}x${height}`;
      const tally = sizes.get(key);
      if (tally) tally.count++;
      else sizes.set(key, { count: 1, example: file });
      const resized = size !== undefined && (width !== size.width || height !== size.height);
      const image = size
        ? resizeImage(decoded.value, size.width, size.height)
        : sizes.size > 1
          ? null
          : decoded.value;
      images.push({ label, file, image, channels, resized, format });
    }
  }
  if (nested.length > 0) {
    return fail(
      'E_DATASET',
      `${path} has folders inside class folders: ${listing(nested)}; each class folder must hold image files only.`,
      'Move the images up into their class folder, or make each nested folder a class of its own.',
    );
  }
  if (notImages.length > 0) {
    return fail(
      'E_DATASET',
      `${notImages.length} file${notImages.length > 1 ? 's' : ''} in ${path} ${notImages.length > 1 ? 'are' : 'is'} not PNG or JPEG: ${listing(notImages)}.`,
      'Remove them or convert them to PNG; files whose names start with "." are ignored.',
    );
  }
  return ok({ path, classes, images });
}

/**
 * Reads the main folder and, when given, the test folder, at one common size and channel count.
 * The classes of each are its sub-folder names (the label module checks they agree).
 */
export function readImageFolders(
  main: string,
  test: string | undefined,
  cwd: string,
  options: ImageOptions,
): Result<{ main: RawSource; test?: RawSource }> {
  const scans: Scanned[] = [];
  const sizes: SizeTally = new Map();
  for (const path of test === undefined ? [main] : [main, test]) {
    const s = scan(path, cwd, options.size, sizes);
    if (!s.ok) return s;
    scans.push(s.value);
  }
  const all = scans.flatMap((s) => s.images);

  let width: number;
  let height: number;
  if (options.size) {
    ({ width, height } = options.size);
  } else {
    if (sizes.size > 1) {
      const list = [...sizes.entries()]
        .sort((a, b) => b[1].count - a[1].count)
        .map(([key, s]) => `${key} (${s.count} file${s.count > 1 ? 's' : ''}, e.g. ${s.example})`);
      return fail(
        'E_DATASET',
        `The images have ${sizes.size} different sizes: ${list.join('; ')}.`,
        'Pass --size WxH (e.g. --size 32x32) to resize every image to one size (bilinear).',
        { sizes: Object.fromEntries(sizes) },
      );
    }
    const first = all[0]?.image;
    width = first?.width ?? 1;
    height = first?.height ?? 1;
  }
  const channels: 1 | 3 = options.channels ?? (all.every((e) => e.channels === 1) ? 1 : 3);

  const sources = scans.map((s): RawSource => {
    const per = height * width * channels;
    const x = new Uint8Array(s.images.length * per);
    let resized = 0;
    let converted = 0;
    s.images.forEach((e, i) => {
      let img = e.image!;
      if (e.resized) resized++;
      if (img.channels !== channels) {
        img = convertChannels(img, channels);
        converted++;
      }
      x.set(img.pixels, i * per);
    });
    const png = s.images.filter((e) => e.format === 'png').length;
    const files = s.images.map((e) => e.file);
    const notes = [
      `Samples are the images of ${s.path}: class sub-folders in class order, files sorted by name; perSample.sourceIndex counts them in that order.`,
    ];
    if (resized > 0)
      notes.push(`${resized} images were resized to ${width}x${height} (bilinear, pixel centres aligned).`);
    if (converted > 0)
      notes.push(
        channels === 1
          ? `${converted} colour images were converted to grey (ITU-R BT.601 luma).`
          : `${converted} grey images were repeated into 3 channels.`,
      );
    return {
      kind: 'images',
      path: s.path,
      n: s.images.length,
      x,
      storedShape: [height, width, channels],
      inputShape: [channels, height, width],
      permutation: [2, 0, 1],
      layout: 'HWC->CHW',
      labels: s.images.map((e) => e.label),
      where: (i) => files[i]!,
      description: `image folder ${s.path}: ${s.classes.length} class sub-folders, ${s.images.length} images (${png} PNG, ${s.images.length - png} JPEG)`,
      notes,
    };
  });
  return ok({ main: sources[0]!, ...(sources[1] ? { test: sources[1] } : {}) });
}

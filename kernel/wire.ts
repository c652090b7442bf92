import { createHmac, randomBytes } from "crypto";

/**
 * Jupyter's wire format (messaging protocol 5.3): `[identities…, "<IDS|MSG>", hmac, header, parent, metadata,
 * content, buffers…]`, signed with HMAC-SHA256 over the four JSON frames. Shared by the kernel's server and the
 * headless runner's client, so both sides speak exactly the same dialect.
 */

/** The protocol version the kernel implements. */
export const PROTOCOL_VERSION = "5.3";

const DELIM = Buffer.from("<IDS|MSG>");

/** A message header. */
export interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

/** A decoded message, with the socket identities needed to route a reply. */
export interface Message<C = Record<string, unknown>> {
  identities: Buffer[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

function sign(key: string, frames: (string | Buffer)[]): string {
  if (!key) return "";
  const hmac = createHmac("sha256", key);
  for (const f of frames) hmac.update(f);
  return hmac.digest("hex");
}

/** Decodes raw frames; throws when the delimiter is missing or the signature does not match the key. */
export function decode(key: string, frames: Buffer[]): Message {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0) throw new Error("Jupyter message without the <IDS|MSG> delimiter");
  const [hmac, header, parent, metadata, content, ...buffers] = frames.slice(at + 1);
  if (sign(key, [header, parent, metadata, content]) !== hmac.toString()) throw new Error("Jupyter message with a bad signature");
  return {
    identities: frames.slice(0, at),
    header: JSON.parse(header.toString()),
    parent_header: JSON.parse(parent.toString()),
    metadata: JSON.parse(metadata.toString()),
    content: JSON.parse(content.toString()),
    buffers,
  };
}

/** Encodes and signs a message into frames. */
export function encode(key: string, msg: Omit<Message<unknown>, "buffers"> & { buffers?: Buffer[] }): (string | Buffer)[] {
  const body = [msg.header, msg.parent_header, msg.metadata, msg.content].map((x) => JSON.stringify(x));
  return [...msg.identities, DELIM, sign(key, body), ...body, ...(msg.buffers ?? [])];
}

/** A fresh header of type `msgType` in `session`. */
export function newHeader(msgType: string, session: string, username = "llamalab"): Header {
  return { msg_id: randomBytes(16).toString("hex"), msg_type: msgType, session, username, date: new Date().toISOString(), version: PROTOCOL_VERSION };
}

/** Converts a code-point offset (what the protocol counts) into a UTF-16 offset (what JavaScript strings count). */
export function codePointsToUtf16(text: string, codePoints: number): number {
  let units = 0;
  for (let i = 0; i < codePoints && units < text.length; i++) units += text.codePointAt(units)! > 0xffff ? 2 : 1;
  return units;
}

/** Converts a UTF-16 offset into a code-point offset. */
export function utf16ToCodePoints(text: string, units: number): number {
  return [...text.slice(0, units)].length;
}

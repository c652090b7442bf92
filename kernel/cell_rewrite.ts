import * as ts from "@tslab/typescript-for-tslab";

/**
 * Spells out shorthand properties (`{ a }` → `{ a: a }`) in a cell. tslab rewrites names declared by earlier cells
 * to `exports.name`, but it cannot do so inside a shorthand property, so `{ model }` threw "model is not defined"
 * whenever `model` came from another cell. Shorthands with a default (`({ a = 1 } = obj)`) are left alone.
 */
export function expandShorthandProperties(source: string): string {
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const inserts: { pos: number; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isShorthandPropertyAssignment(node) && !node.objectAssignmentInitializer) {
      inserts.push({ pos: node.name.getEnd(), text: `: ${node.name.text}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = source;
  for (const { pos, text } of inserts.sort((a, b) => b.pos - a.pos)) out = out.slice(0, pos) + text + out.slice(pos);
  return out;
}

/** The global function cells call at the top of every loop iteration (installed by the kernel). */
export const CHECKPOINT_GLOBAL = "__llamalabCheckpoint";

/**
 * Adds an interrupt check at the start of every loop body of a cell, on the same line (so error line numbers stay
 * right). An interrupted cell then stops at its next iteration instead of running on in the background, e.g. a
 * loop that awaits a training step after the user pressed ■.
 */
export function insertInterruptChecks(source: string, cell: number): string {
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const check = `(globalThis as any).${CHECKPOINT_GLOBAL}(${cell});`;
  const inserts: { pos: number; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIterationStatement(node, false)) {
      const body = node.statement;
      if (ts.isBlock(body)) inserts.push({ pos: body.getStart() + 1, text: ` ${check}` });
      else {
        inserts.push({ pos: body.getStart(), text: `{ ${check} ` });
        inserts.push({ pos: body.getEnd(), text: " }" });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = source;
  for (const { pos, text } of inserts.sort((a, b) => b.pos - a.pos)) out = out.slice(0, pos) + text + out.slice(pos);
  return out;
}

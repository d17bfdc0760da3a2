/**
 * Formats rows as a text table the way runc's tabwriter does: each column as wide as its widest cell (at least
 * 12 characters) plus 3 spaces, the last column unpadded, no trailing spaces. With no rows it is the header
 * line alone.
 *
 * @example
 * ```ts
 * formatTable(["ID", "STATUS"], [["fw1", "running"]]);
 * // "ID             STATUS\nfw1            running"
 * ```
 */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(12, h.length, ...rows.map((r) => (r[i] ?? "").length)) + 3);
  return [header, ...rows]
    .map((cells) =>
      header.map((_, i) => i === header.length - 1 ? (cells[i] ?? "") : (cells[i] ?? "").padEnd(widths[i]))
        .join("").trimEnd()
    )
    .join("\n");
}

/**
 * Strings (tenants, scopes) as small numbers, so per-slot filters compare integers. Counted by
 * use: a label no slot uses any more is forgotten and its number reused, so labels that come and
 * go (conversations) cannot grow the table forever.
 */
export class Labels {
  private readonly ids = new Map<string, number>();
  private names: string[] = [];
  private uses: number[] = [];
  private free: number[] = [];

  /** Labels in use. */
  get size(): number {
    return this.ids.size;
  }

  /** The number of `text`, or undefined when nothing uses it. */
  get(text: string): number | undefined {
    return this.ids.get(text);
  }

  /** The text of label `id` (which must be in use). */
  name(id: number): string {
    return this.names[id]!;
  }

  /** Takes one use of `text` and returns its number. */
  use(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.free.pop() ?? this.names.length;
      this.ids.set(text, id);
      this.names[id] = text;
      this.uses[id] = 0;
    }
    this.uses[id] = this.uses[id]! + 1;
    return id;
  }

  /** Gives back one use of label `id`; the last one forgets it. */
  release(id: number): void {
    const uses = this.uses[id]! - 1;
    this.uses[id] = uses;
    if (uses > 0) return;
    this.ids.delete(this.names[id]!);
    this.free.push(id);
  }

  clear(): void {
    this.ids.clear();
    this.names = [];
    this.uses = [];
    this.free = [];
  }
}

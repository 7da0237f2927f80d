/** Summarises a V8 CPU profile (Profiler.stop) into self time per function and per category. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** (idle) = waiting (network, OPFS, messages); (garbage collector); (program) = native/engine. */
  byCategory: [string, number][];
  /** Self time by function, highest first. */
  top: [string, number][];
  /** Inclusive time by function (a function's own time plus its callees'), highest first. */
  inclusive: [string, number][];
}

function shortUrl(url: string): string {
  const m = /\/(src|worker|node_modules)\/(.*?)(\?.*)?$/.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  const tail = url.split('/').pop() ?? url;
  return tail.replace(/\?.*$/, '');
}

export function summarizeProfile(profile: CpuProfile, topN = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const dt = (deltas[i + 1] ?? 0) / 1000;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + dt);
  }
  const label = (n: ProfileNode) => {
    const f = n.callFrame;
    if (!f.url) return f.functionName || '(anonymous)';
    return `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
  };
  const categories = new Map<string, number>();
  const fns = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    total += ms;
    const name = node.callFrame.functionName;
    const cat = name.startsWith('(') ? name : 'JS + wasm';
    categories.set(cat, (categories.get(cat) ?? 0) + ms);
    fns.set(label(node), (fns.get(label(node)) ?? 0) + ms);
    // Inclusive: once per distinct label on the stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (l === '(root)' || seen.has(l)) continue;
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total,
    byCategory: sorted(categories),
    top: sorted(fns).slice(0, topN),
    inclusive: sorted(incl)
      .filter(([l]) => !l.startsWith('('))
      .slice(0, topN),
  };
}

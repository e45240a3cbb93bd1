// The review's decision-space section (issue 14 item 3): per property, the cases of the run in
// each cell of the six axes the PKRU fixup's decision can read, next to which cells the
// property's domain can reach (properties/decisionSpace.ts). Written once as blocks, printed
// by the Markdown and HTML renderers and by `fuzz` and `check` on the terminal.
import { PROPERTY_IDS } from '../properties/claims';
import { DecisionSpace, unreachedCells } from '../properties/decisionSpace';
import type { Block } from './realKernels';

const fmt = (n: number): string => n.toLocaleString('en-US');

/** The section's content from the table: one row per cell any property can reach or reached. */
export function decisionSpaceBlocks(ds: DecisionSpace): Block[] {
  const cells = [...new Set(PROPERTY_IDS.flatMap((id) => ds.byProperty[id].cells.map((c) => c.cell)))].sort();
  const rows = cells.map((cell) => [
    ...cell.split(''),
    ...PROPERTY_IDS.map((id) => {
      const c = ds.byProperty[id].cells.find((x) => x.cell === cell);
      if (!c) return '—';
      return c.feasible ? (c.cases ? fmt(c.cases) : '**0**') : `${fmt(c.cases)} (outside the enumeration)`;
    }),
  ]);
  const reach = PROPERTY_IDS.map((id) => `${id} ${ds.byProperty[id].reached}/${ds.byProperty[id].feasible}`).join(', ');
  const unreached = unreachedCells(ds);
  return [
    { h: 'Decision space' },
    {
      p:
        "Cases per cell of the inputs the PKRU fixup's decision can read, at the KVM_SET_XSAVE each property makes (P2: the target's restore; P5: the fresh vCPU's). " +
        '1/0 per axis: ' + ds.axes.join(' × ') + ' (CPUID bits as the raw table has them, the host as KVM supports it). ' +
        "— = outside the property's domain: no scenario of an enumeration of the domain (values its generators draw) reaches that cell. " +
        `Feasible cells reached: ${reach}.`,
    },
    { table: { head: [...ds.axes, ...PROPERTY_IDS], rows } },
    { p: unreached.length ? `Feasible cells this run never reached: ${unreached.join(', ')}.` : 'Every feasible cell of every property that ran was reached.' },
  ];
}

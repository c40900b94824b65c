import { useId, useState } from 'react';
import type { Scope } from '../api';

interface ScopeChipsProps {
  values: string[];
  catalogue: Scope[];
  /** How many show before "+N more" (all of them when there are at most this many + 1). */
  visible?: number;
  /** Name of what the scopes belong to, for the toggle's accessible name. */
  owner: string;
}

/** A credential's scopes as compact chips: the first few, then "+N more" that shows the full list. */
export function ScopeChips({ values, catalogue, visible = 3, owner }: ScopeChipsProps) {
  const [expanded, setExpanded] = useState(false);
  const listId = useId();
  const describe = (value: string) => catalogue.find((s) => s.value === value)?.description ?? value;
  const collapsible = values.length > visible + 1;
  const shown = collapsible && !expanded ? values.slice(0, visible) : values;
  const hidden = values.length - shown.length;
  return (
    <div className="scope-chips">
      <ul className="scope-list" id={listId} aria-label={`Scopes of ${owner}`}>
        {shown.map((s) => (
          <li key={s} className="scope-tag" title={`${describe(s)} (${s})`}>
            {describe(s)}
            <code>{s}</code>
          </li>
        ))}
      </ul>
      {collapsible ? (
        <button
          type="button"
          className="more-button"
          aria-expanded={expanded}
          aria-controls={listId}
          aria-label={expanded ? `Show fewer scopes of ${owner}` : `Show all ${values.length} scopes of ${owner}`}
          onClick={() => setExpanded((e) => !e)}
        >
          {expanded ? 'Show less' : `+${hidden} more`}
        </button>
      ) : null}
    </div>
  );
}

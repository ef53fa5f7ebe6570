// Polls: vote once per poll and see results; moderators create and close.

import { useState } from 'preact/hooks';
import type { RoomState } from '../lib/room';
import type { Poll } from '../lib/types';

export function Polls({ rs, moderate = false }: { rs: RoomState; moderate?: boolean }) {
  const polls = [...rs.polls.values()].sort((a, b) => Number(a.closed) - Number(b.closed) || b.ts - a.ts);
  return (
    <div class="polls">
      {moderate && <NewPoll rs={rs} />}
      {polls.length === 0 && <p class="muted">No polls yet.</p>}
      <ul class="poll-list">
        {polls.map((p) => (
          <PollItem key={p.id} p={p} rs={rs} moderate={moderate} />
        ))}
      </ul>
    </div>
  );
}

function PollItem({ p, rs, moderate }: { p: Poll; rs: RoomState; moderate: boolean }) {
  const [choice, setChoice] = useState(-1);
  const voted = rs.voted.has(p.id);
  const showResults = voted || p.closed || moderate;
  const vote = async (e: Event) => {
    e.preventDefault();
    if (choice < 0) return;
    rs.voted.add(p.id);
    rs.changed();
    const r = await rs.act('poll.vote', { id: p.id, option: choice });
    if (r === undefined) {
      rs.voted.delete(p.id);
      rs.changed();
    }
  };
  return (
    <li class="poll card" data-id={p.id}>
      <fieldset>
        <legend>
          {p.question} {p.closed && <span class="badge">closed</span>}
        </legend>
        {showResults ? (
          <ul class="results">
            {p.options.map((o, i) => {
              const pct = p.total ? Math.round(((p.counts[i] || 0) / p.total) * 100) : 0;
              return (
                <li key={i}>
                  <span>{o}</span>
                  <progress max={100} value={pct} aria-label={`${o}: ${pct}%`} />
                  <span class="small">
                    {pct}% ({p.counts[i] || 0})
                  </span>
                </li>
              );
            })}
            <li class="muted small">{p.total} votes</li>
          </ul>
        ) : (
          <form onSubmit={vote}>
            {p.options.map((o, i) => (
              <label key={i} class="check">
                <input type="radio" name={`poll-${p.id}`} value={i} checked={choice === i} onChange={() => setChoice(i)} />
                {o}
              </label>
            ))}
            <button type="submit" class="primary" disabled={choice < 0}>
              Vote
            </button>
          </form>
        )}
        {moderate && !p.closed && (
          <button type="button" onClick={() => rs.act('poll.close', { id: p.id })}>
            Close poll
          </button>
        )}
      </fieldset>
    </li>
  );
}

function NewPoll({ rs }: { rs: RoomState }) {
  const [q, setQ] = useState('');
  const [opts, setOpts] = useState(['', '']);
  const create = async (e: Event) => {
    e.preventDefault();
    const options = opts.map((o) => o.trim()).filter(Boolean);
    if (!q.trim() || options.length < 2) return;
    const r = await rs.act('poll.create', { question: q.trim(), options });
    if (r) {
      setQ('');
      setOpts(['', '']);
    }
  };
  return (
    <form class="card stack" onSubmit={create} aria-label="New poll">
      <h3>New poll</h3>
      <label for="poll-q">Question</label>
      <input id="poll-q" value={q} maxLength={200} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      {opts.map((o, i) => (
        <div key={i} class="row">
          <label for={`poll-o${i}`} class="sr-only">
            Option {i + 1}
          </label>
          <input id={`poll-o${i}`} value={o} maxLength={100} placeholder={`Option ${i + 1}`} onInput={(e) => setOpts(opts.map((x, j) => (j === i ? (e.target as HTMLInputElement).value : x)))} />
        </div>
      ))}
      <div class="row">
        {opts.length < 10 && (
          <button type="button" onClick={() => setOpts([...opts, ''])}>
            Add option
          </button>
        )}
        <button type="submit" class="primary">
          Start poll
        </button>
      </div>
    </form>
  );
}

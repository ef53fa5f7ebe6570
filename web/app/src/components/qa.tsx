// QA: ask questions, upvote them, and see answers; moderators approve,
// dismiss, answer and pin (in the console the pending queue comes first).

import { useState } from 'preact/hooks';
import type { RoomState } from '../lib/room';
import type { Question } from '../lib/types';

/** sortQuestions orders pinned first, then by votes, then oldest first. */
export function sortQuestions(qs: Question[]): Question[] {
  return [...qs].sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.votes - a.votes || a.ts - b.ts);
}

export function QA({ rs, moderate = false }: { rs: RoomState; moderate?: boolean }) {
  const [text, setText] = useState('');
  const [note, setNote] = useState('');
  const all = [...rs.questions.values()];
  const visible = sortQuestions(all.filter((q) => q.status === 'approved' || q.status === 'answered'));
  const pending = sortQuestions(all.filter((q) => q.status === 'pending'));
  const mine = pending.filter((q) => q.user === rs.self?.user);
  const ask = async (e: Event) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    const r = await rs.act<{ id: string; status: string }>('qa.ask', { text: t });
    if (r) {
      setText('');
      setNote(r.status === 'pending' ? 'Thanks! Your question will appear once a moderator approves it.' : '');
    }
  };
  const upvote = (q: Question) => {
    rs.upvoted.add(q.id);
    rs.changed();
    void rs.act('qa.upvote', { id: q.id });
  };
  return (
    <div class="qa">
      {rs.qaSettings.open ? (
        <form class="composer" onSubmit={ask}>
          <label for="qa-input" class="sr-only">
            Your question
          </label>
          <input id="qa-input" value={text} maxLength={300} autocomplete="off" placeholder="Ask the speakers a question…" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
          <button type="submit" disabled={!text.trim() || rs.status !== 'live'}>
            Ask
          </button>
        </form>
      ) : (
        <p class="muted">Questions are closed.</p>
      )}
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      {moderate && (
        <section aria-label="Questions waiting for approval">
          <h3>
            Waiting for approval <span class="badge">{pending.length}</span>
          </h3>
          <label class="check">
            <input type="checkbox" checked={rs.qaSettings.premoderation} onChange={(e) => rs.act('qa.settings', { premoderation: (e.target as HTMLInputElement).checked })} />
            Approve questions before they are shown
          </label>
          <label class="check">
            <input type="checkbox" checked={rs.qaSettings.open} onChange={(e) => rs.act('qa.settings', { open: (e.target as HTMLInputElement).checked })} />
            Questions open
          </label>
          <ul class="questions">
            {pending.map((q) => (
              <li key={q.id} class="question pending" data-id={q.id}>
                <p class="text">{q.text}</p>
                <p class="muted small">{q.name || q.user}</p>
                <div class="row">
                  <button type="button" class="primary" onClick={() => rs.act('qa.approve', { id: q.id })}>
                    Approve
                  </button>
                  <button type="button" onClick={() => rs.act('qa.dismiss', { id: q.id })}>
                    Dismiss
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}
      {!moderate && mine.length > 0 && (
        <ul class="questions" aria-label="Your questions awaiting approval">
          {mine.map((q) => (
            <li key={q.id} class="question pending">
              <p class="text">{q.text}</p>
              <span class="badge">awaiting approval</span>
            </li>
          ))}
        </ul>
      )}
      <ul class="questions" aria-label="Questions">
        {visible.length === 0 && <li class="muted">No questions yet.</li>}
        {visible.map((q) => (
          <QuestionItem key={q.id} q={q} rs={rs} moderate={moderate} onUpvote={upvote} />
        ))}
      </ul>
    </div>
  );
}

function QuestionItem({ q, rs, moderate, onUpvote }: { q: Question; rs: RoomState; moderate: boolean; onUpvote: (q: Question) => void }) {
  const [answer, setAnswer] = useState('');
  const voted = rs.upvoted.has(q.id) || q.user === rs.self?.user;
  return (
    <li class={`question ${q.status}${q.pinned ? ' pinned' : ''}`} data-id={q.id}>
      <div class="votes">
        <button type="button" onClick={() => onUpvote(q)} disabled={voted} aria-label={`Upvote: ${q.text}`} aria-pressed={voted}>
          ▲
        </button>
        <span aria-label={`${q.votes} votes`}>{q.votes}</span>
      </div>
      <div class="body">
        {q.pinned && <span class="badge">pinned</span>}
        {q.status === 'answered' && <span class="badge ok">answered</span>}
        <p class="text">{q.text}</p>
        <p class="muted small">{q.name || q.user}</p>
        {q.answer && (
          <p class="answer">
            <strong>Answer:</strong> {q.answer}
          </p>
        )}
        {moderate && (
          <div class="row">
            <button type="button" onClick={() => rs.act('qa.pin', { id: q.id, pinned: !q.pinned })}>
              {q.pinned ? 'Unpin' : 'Pin'}
            </button>
            <form
              class="inline"
              onSubmit={(e) => {
                e.preventDefault();
                void rs.act('qa.answer', answer.trim() ? { id: q.id, answer: answer.trim() } : { id: q.id });
                setAnswer('');
              }}
            >
              <label class="sr-only" for={`ans-${q.id}`}>
                Answer
              </label>
              <input id={`ans-${q.id}`} value={answer} maxLength={300} placeholder="Answer (optional)" onInput={(e) => setAnswer((e.target as HTMLInputElement).value)} />
              <button type="submit">Mark answered</button>
            </form>
            <button type="button" onClick={() => rs.act('qa.dismiss', { id: q.id })}>
              Dismiss
            </button>
          </div>
        )}
      </div>
    </li>
  );
}

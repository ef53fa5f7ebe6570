// Schedule rooms map to SFU rooms by slug. The scheduler gives rooms a slug;
// roomSlug derives one the same way for names met without it, so that a
// session's "Join live" link and the room's stage agree.

const known = new Map<string, string>();

/** rememberRooms records the slugs the scheduler returned. */
export function rememberRooms(rooms: { name: string; slug?: string }[]): void {
  for (const r of rooms) if (r.slug) known.set(r.name, r.slug);
}

/** roomSlug returns the SFU room name of a schedule room. */
export function roomSlug(name: string): string {
  const k = known.get(name);
  if (k) return k;
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return s || 'room';
}

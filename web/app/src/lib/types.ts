// Shapes of the API and protocol payloads the app reads. The contracts are
// docs/openapi.yaml (scheduler), docs/recording.md (library) and
// docs/protocol/*.json (WebSocket); only the fields used here are listed.

export interface Me {
  tenant: string;
  subject: string;
  name?: string;
  role: string;
  rooms: string[];
  expires_at: string;
}

export interface Day {
  index: number;
  date: string;
  start: string;
  end: string;
}

export interface Counts {
  sessions: number;
  rooms: number;
  tracks: number;
  speakers: number;
}

export interface Convention {
  slug: string;
  title: string;
  subtitle?: string;
  venue?: string;
  city?: string;
  url?: string;
  time_zone: string;
  day_change: string;
  start?: string;
  end?: string;
  days: Day[];
  published: boolean;
  counts: Counts;
}

export interface Room {
  name: string;
  slug?: string;
  guid?: string;
}

export interface Track {
  name: string;
  slug?: string;
  color?: string;
}

export interface Person {
  key?: string;
  name: string;
}

export interface Session {
  guid: string;
  title: string;
  subtitle?: string;
  abstract?: string;
  type?: string;
  language?: string;
  start: string;
  end: string;
  duration_minutes: number;
  day: number;
  room: string;
  track?: string;
  persons: Person[];
  recording_opt_out: boolean;
}

export interface SessionList {
  sessions: Session[];
  total: number;
}

export interface NowNext {
  at: string;
  rooms: { room: Room; now: Session | null; next: Session | null }[];
}

export interface Conflict {
  kind: string;
  guids: string[];
  message: string;
}

export interface ImportSummary {
  days: number;
  rooms: number;
  events: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  conflicts: Conflict[];
}

export interface Participant {
  id: string;
  user: string;
  name?: string;
  role: string;
  hand?: number;
  speaking: boolean;
  muted: boolean;
  joined: number;
}

export interface TrackInfo {
  id: string;
  participant: string;
  kind: 'audio' | 'video';
  stream?: string;
  simulcast?: boolean;
  /** true while a moderator's mute stops the track at the SFU */
  muted?: boolean;
}

export interface ChatMessage {
  seq: number;
  kind: 'message' | 'announce';
  user: string;
  name?: string;
  role?: string;
  text: string;
  ts: number;
  edited?: boolean;
  deleted?: boolean;
  reactions: Record<string, number>;
}

export interface Question {
  id: string;
  user: string;
  name?: string;
  text: string;
  status: 'pending' | 'approved' | 'answered' | 'dismissed';
  pinned: boolean;
  votes: number;
  answer?: string;
  ts: number;
}

export interface Poll {
  id: string;
  question: string;
  options: string[];
  counts: number[];
  total: number;
  closed: boolean;
  user: string;
  ts: number;
}

export interface VOD {
  prefix: string;
  master: string;
  poster?: string;
  width?: number;
  height?: number;
}

export interface Recording {
  id: string;
  session?: string;
  room?: string;
  title?: string;
  track?: string;
  status: string;
  duration?: number;
  vod?: VOD;
  playback_url?: string;
  poster_url?: string;
  activity: string;
  progress?: { fraction: number; duration: number; segments?: unknown };
  created_at?: string;
}

export interface Lesson {
  recording: string;
  title: string;
}

export interface Course {
  id: string;
  title: string;
  description?: string;
  track?: string;
  lessons: Lesson[];
  threshold?: number;
}

export interface Certificate {
  code: string;
  name: string;
  course: string;
  course_title: string;
  issued_at: string;
}

export interface CourseProgress {
  course: string;
  enrolled: boolean;
  threshold: number;
  lessons: { recording: string; title: string; fraction: number; complete: boolean }[];
  complete: boolean;
  certificate?: Certificate;
}

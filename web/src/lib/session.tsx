// The signed-in actor: loaded from /api/v1/auth/session (200 signed in or not, so no failed request is logged on a
// signed-out visit), cleared on sign-out and on any 401 (session expiry).
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, onUnauthenticated } from './api.js';

export type Role = 'operator' | 'ministry' | 'analyst' | 'nco_director' | 'commissioner' | 'police' | 'sdf' | 'prime_minister' | 'foreign_ministry' | 'council_member' | 'admin';

export interface Actor {
  kind: string;
  id: string;
  username: string;
  roles: Role[];
  orgId: string | null;
  sectors: string[];
}

export type SessionState =
  | { status: 'loading' }
  | { status: 'anonymous'; reason?: 'expired' | 'signed-out' }
  | { status: 'signed-in'; actor: Actor; expiresAt: string | null };

interface SessionValue {
  state: SessionState;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}
const Ctx = createContext<SessionValue | undefined>(undefined);

async function whoAmI(): Promise<SessionState> {
  const me = await api<{ actor: Actor | null; sessionExpiresAt?: string | null }>('/api/v1/auth/session', { quiet401: true });
  return me.actor === null ? { status: 'anonymous' } : { status: 'signed-in', actor: me.actor, expiresAt: me.sessionExpiresAt ?? null };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  useEffect(() => {
    whoAmI().then(setState, () => setState({ status: 'anonymous' }));
    return onUnauthenticated(() => setState((s) => (s.status === 'signed-in' ? { status: 'anonymous', reason: 'expired' } : s)));
  }, []);
  // The server ends the session at its expiry; say so then rather than at the next failed call.
  useEffect(() => {
    if (state.status !== 'signed-in' || state.expiresAt === null) return;
    const ms = Date.parse(state.expiresAt) - Date.now();
    if (!(ms > 0)) return;
    const timer = setTimeout(() => setState({ status: 'anonymous', reason: 'expired' }), Math.min(ms, 2_147_000_000));
    return () => clearTimeout(timer);
  }, [state]);
  const signIn = useCallback(async (username: string, password: string) => {
    await api('/api/v1/auth/login', { method: 'POST', body: { username, password }, quiet401: true });
    setState(await whoAmI());
  }, []);
  const signOut = useCallback(async () => {
    try {
      await api('/api/v1/auth/logout', { method: 'POST', body: {}, quiet401: true });
    } finally {
      setState({ status: 'anonymous', reason: 'signed-out' });
    }
  }, []);
  return <Ctx.Provider value={{ state, signIn, signOut }}>{children}</Ctx.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(Ctx);
  if (v === undefined) throw new Error('useSession outside SessionProvider');
  return v;
}

/** The signed-in actor; only for screens rendered behind the sign-in gate. */
export function useActor(): Actor {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useActor without a session');
  return state.actor;
}

export function hasRole(actor: Actor, ...roles: Role[]): boolean {
  return actor.roles.some((r) => roles.includes(r));
}

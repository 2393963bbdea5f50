import { createContext, useContext } from 'react';
import type { UserView } from '../../src/protocol/identity.ts';

export type Permission = UserView['permissions'][number];

export interface Auth {
  user: UserView;
  can(p: Permission): boolean;
  signOut(): void;
}

export const AuthContext = createContext<Auth | null>(null);

/** The signed-in user; pages render only inside the signed-in shell. */
export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error('useAuth outside the signed-in shell');
  return a;
}

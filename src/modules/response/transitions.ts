/** @module The measure state machine as one table: each transition, the states it leaves, the state it reaches, the policy action and the conditions it needs. */
import type { Agency, MeasureState } from './schema.js';

/** A transition's name (also the suffix of its audit action, `measure:<name>`). */
export type TransitionName = 'propose' | 'submit' | 'approve' | 'order' | 'execute' | 'act-emergency' | 'complete' | 'fail' | 'halt' | 'review';

/** The facts a guard looks at. */
export interface MeasureFacts {
  state: MeasureState;
  agency: Agency;
  abroad: boolean;
  /** A Foreign Ministry consultation is recorded. */
  mofaConsulted: boolean;
  /** A Prime Minister's order is recorded. */
  pmOrdered: boolean;
  /** The SDF conditions hold (grave target, highly organized or state-backed attacker). */
  sdfGroundsMet: boolean;
  /** Oversight answers that the measure is authorized now, and how. */
  authorization: 'prior' | 'emergency' | undefined;
}

/** Why a transition is refused: a stable code and a message that says what to do. */
export interface Refusal { code: 'WRONG_STATE' | 'NO_APPROVAL' | 'NO_PM_ORDER' | 'SDF_CONDITIONS' | 'NO_MOFA_CONSULTATION' | 'WRONG_AGENCY' | 'NOT_SDF'; message: string }

/** One row of the table. */
export interface Transition {
  name: TransitionName;
  from: readonly MeasureState[];
  to: MeasureState;
  /** The Cedar action (docs/policy.md says who holds it). */
  action: string;
  /** The conditions, in the order they are checked. */
  guards: readonly ((f: MeasureFacts) => Refusal | undefined)[];
}

const needsAuthorization = (f: MeasureFacts): Refusal | undefined => f.authorization === undefined
  ? { code: 'NO_APPROVAL', message: 'The commission has not approved this measure (or its approval expired or was revoked); it cannot be executed. Submit it, or use the emergency path.' }
  : undefined;
// Execution by the approved path (and the Prime Minister's order) runs under the commission's prior approval only: an
// emergency action open for review authorizes the emergency path's own execution, nothing else.
const needsPrior = (f: MeasureFacts): Refusal | undefined => needsAuthorization(f.authorization === 'prior' ? f : { ...f, authorization: undefined });
// The emergency path is for a measure the commission has not approved: with an approval in force it would have oversight
// record an emergency action, and open its review, for nothing.
const noApprovalInForce = (f: MeasureFacts): Refusal | undefined => f.authorization === 'prior'
  ? { code: 'WRONG_STATE', message: 'The commission\'s approval of this measure is in force: execute it by the approved path; the emergency path is for measures not yet approved.' }
  : undefined;
const needsMofa = (f: MeasureFacts): Refusal | undefined => f.abroad && !f.mofaConsulted
  ? { code: 'NO_MOFA_CONSULTATION', message: 'The target is abroad (or its location is unknown): a Foreign Ministry consultation must be recorded before execution.' }
  : undefined;
const sdfNeedsOrder = (f: MeasureFacts): Refusal | undefined => f.agency === 'sdf' && !f.pmOrdered
  ? { code: 'NO_PM_ORDER', message: 'The SDF executes only on the Prime Minister\'s order; none is recorded for this measure.' }
  : undefined;
const sdfConditions = (f: MeasureFacts): Refusal | undefined => f.agency === 'sdf' && !f.sdfGroundsMet
  ? { code: 'SDF_CONDITIONS', message: 'The SDF conditions do not hold: the target must be grave (e.g. a specified important computer) and the attacker assessed highly organized or state-backed.' }
  : undefined;
const onlySdf = (f: MeasureFacts): Refusal | undefined => f.agency !== 'sdf'
  ? { code: 'NOT_SDF', message: 'Only measures routed to the SDF are ordered by the Prime Minister; police measures are executed once approved.' }
  : undefined;
const onlyPolice = (f: MeasureFacts): Refusal | undefined => f.agency !== 'police'
  ? { code: 'WRONG_AGENCY', message: 'The emergency path is open to police measures only; the SDF acts on the Prime Minister\'s order after approval.' }
  : undefined;
// An SDF measure is executed from `ordered`, a police measure from `approved`.
const executableState = (f: MeasureFacts): Refusal | undefined => (f.agency === 'police' ? f.state === 'approved' : f.state === 'ordered')
  ? undefined
  : { code: 'WRONG_STATE', message: f.agency === 'sdf' ? 'An SDF measure is executed once approved and ordered by the Prime Minister.' : 'A police measure is executed once approved.' };

/**
 * The transitions. `approve` follows the commission's decision in oversight (response reads it);
 * `halt` is what oversight calls when an emergency review is denied or an approval revoked.
 * @see Police Duties Execution Act Art. 6-2; SDF Act Art. 81-3
 */
export const TRANSITIONS: readonly Transition[] = [
  { name: 'submit', from: ['proposed'], to: 'submitted', action: 'measure:submit', guards: [sdfConditions] },
  { name: 'approve', from: ['submitted'], to: 'approved', action: 'measure:read', guards: [needsPrior] },
  { name: 'order', from: ['approved'], to: 'ordered', action: 'measure:order', guards: [onlySdf, sdfConditions, needsPrior] },
  { name: 'execute', from: ['approved', 'ordered'], to: 'executing', action: 'measure:execute', guards: [executableState, needsPrior, sdfConditions, sdfNeedsOrder, needsMofa] },
  { name: 'act-emergency', from: ['proposed', 'submitted'], to: 'executing', action: 'measure:act-emergency', guards: [onlyPolice, noApprovalInForce, needsMofa] },
  { name: 'complete', from: ['executing'], to: 'executed', action: 'measure:complete', guards: [] },
  { name: 'fail', from: ['executing'], to: 'failed', action: 'measure:complete', guards: [] },
  { name: 'halt', from: ['proposed', 'submitted', 'approved', 'ordered', 'executing', 'executed'], to: 'halted', action: 'measure:halt', guards: [] },
  { name: 'review', from: ['executed', 'failed', 'halted'], to: 'reviewed', action: 'measure:review', guards: [] },
];

/** The row of `name`. */
export function transitionOf(name: TransitionName): Transition {
  const t = TRANSITIONS.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no transition ${name}`);
  return t;
}

/**
 * Whether `name` may happen given `facts`: undefined when it may, else the first refusal. Pure, so
 * the model-based tests and the service share it.
 * @see Police Duties Execution Act Art. 6-2; SDF Act Art. 81-3
 */
export function checkTransition(name: TransitionName, facts: MeasureFacts): Refusal | undefined {
  const t = transitionOf(name);
  if (!t.from.includes(facts.state)) return { code: 'WRONG_STATE', message: `A measure that is ${facts.state} cannot ${name}; it must be ${t.from.join(' or ')}.` };
  for (const g of t.guards) {
    const r = g(facts);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** States whose measures are in force: artifacts are built from these only. */
export const IN_FORCE_STATES: readonly MeasureState[] = ['executing', 'executed'];

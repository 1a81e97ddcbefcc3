/** @module The commission's voting rule: quorum of members voting, then the configured majority of votes. */
import type { Tally, VoteValue } from './schema.js';

/** The voting rule in force (configuration `oversight`). @see DPA Art. 38 ff. (the commission's proceedings) */
export interface VotingRule {
  commissionSize: number;
  quorum: number;
  majority: 'simple' | 'absolute' | 'two_thirds';
}

/** The outcome of counting: no quorum yet, or a result. */
export type TallyOutcome = { quorate: false; tally: Tally; needed: number } | { quorate: true; tally: Tally; result: 'approved' | 'denied' };

/** Counts votes. Abstentions count toward the quorum but are not votes cast; a tie denies. @see DPA Art. 38 ff. */
export function countVotes(votes: readonly VoteValue[], rule: VotingRule): TallyOutcome {
  const tally: Tally = { approve: 0, deny: 0, abstain: 0 };
  for (const v of votes) tally[v] += 1;
  const present = tally.approve + tally.deny + tally.abstain;
  if (present < rule.quorum) return { quorate: false, tally, needed: rule.quorum - present };
  const cast = tally.approve + tally.deny;
  let approved: boolean;
  if (rule.majority === 'simple') approved = tally.approve > tally.deny;
  else if (rule.majority === 'absolute') approved = tally.approve * 2 > rule.commissionSize;
  else approved = cast > 0 && tally.approve * 3 >= cast * 2;
  return { quorate: true, tally, result: approved ? 'approved' : 'denied' };
}

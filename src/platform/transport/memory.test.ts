/** @module The in-process transport passes the transport contract. */
import { createMemoryTransport } from './memory.js';
import { transportContract } from './test-support/contract.js';

transportContract('in-process', () => createMemoryTransport(), 1);

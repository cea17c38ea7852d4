import { evaluateRequest } from '../app/evaluate';
import { runtime } from './runtime';

/** Task state "Evaluate": parse, claim, decide by policy. */
export const handler = async (event: unknown) => evaluateRequest(event, runtime().evaluation());

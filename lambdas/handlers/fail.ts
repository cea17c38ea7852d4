import { failRequest, type FailureInput } from '../app/fail';
import { runtime } from './runtime';

/** The workflow's failure path: end the request as failed and say so. */
export const handler = async (input: FailureInput) => failRequest(input, runtime().requestPath());

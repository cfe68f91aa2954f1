import { Account, Settings } from '../contract/accounts.js';
import { Key } from '../contract/keys.js';
import { Problem, withId } from '../contract/schema.js';

export { problems } from '../contract/schema.js';

/**
 * The schemas registered once (`app.addSchema`) and referenced by `$ref` from the routes: each is
 * one component of the OpenAPI document. Their shapes are declared in `contract/`.
 */
export const sharedSchemas = [withId('Problem', Problem), withId('Key', Key), withId('Settings', Settings), withId('Account', Account)];

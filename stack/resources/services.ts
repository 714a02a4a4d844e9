/** The API index (`GET /v2/storage`): the stack's components, the services it offers, its features. */
import { ApiIndexSchema, type ApiIndex } from '../schemas';
import { StackResource } from './resource';

export class ServicesResource extends StackResource {
  async index(): Promise<ApiIndex> {
    return this.transport.request('GET', '', ApiIndexSchema);
  }
}

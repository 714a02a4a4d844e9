/** Components of the default branch, each with its configurations (and their rows and state). */
import { ComponentWithConfigurationsSchema, type ComponentWithConfigurations } from '../schemas';
import { StackResource } from './resource';

export class ComponentsResource extends StackResource {
  async list(): Promise<ComponentWithConfigurations[]> {
    return this.transport.list('GET', '/branch/default/components', ComponentWithConfigurationsSchema, { query: { include: 'configuration,rows,state' } });
  }
}

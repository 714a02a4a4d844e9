/** Components of the default branch, each with its configurations (and their rows and state). */
import { ComponentHeadsSchema, ComponentWithConfigurationsSchema, type ComponentHeads, type ComponentWithConfigurations } from '../schemas';
import { StackResource } from './resource';

export class ComponentsResource extends StackResource {
  /** Every configuration in full: one answer as large as the project's configurations (use `heads` where that matters). */
  async list(): Promise<ComponentWithConfigurations[]> {
    return this.transport.list('GET', '/branch/default/components', ComponentWithConfigurationsSchema, { query: { include: 'configuration,rows,state' } });
  }

  /**
   * The components with their configurations' IDs, names and versions, without bodies, rows or state: read the
   * bodies component by component (`configurations.list`), so that no answer holds every configuration at once.
   */
  async heads(): Promise<ComponentHeads[]> {
    return this.transport.list('GET', '/branch/default/components', ComponentHeadsSchema);
  }
}

/**
 * The order test files start in. vitest starts the longest files first when it has the timings of
 * an earlier run, and the largest files first when it has none (a clean clone, as in CI). By size,
 * the examples' tests start last, yet each drives a whole run through the real CLI for 10-30 s, and
 * one that starts last ends the run late. So without timings they go first.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const isExample = (f: TestSpecification): boolean => f.moduleId.includes('/test/examples/');

export default class ExamplesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const timed = files.every((f) =>
      this.ctx.cache.getFileTestResults(
        `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`,
      ),
    );
    if (timed) return sorted;
    return [...sorted.filter(isExample), ...sorted.filter((f) => !isExample(f))];
  }
}

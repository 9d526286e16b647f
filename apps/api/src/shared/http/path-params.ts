import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { ProblemException, problem } from './problem';
import { ID_PATTERN, foldIdCase } from './dtos';

/** Path ids are plain tokens: anything else is a 400, never a lookup; a UUID in upper case is the one in lower case (foldIdCase). */
@Injectable()
export class IdPipe implements PipeTransform<string, string> {
  transform(value: string, meta: ArgumentMetadata): string {
    if (typeof value !== 'string' || !ID_PATTERN.test(value))
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', `The path parameter ${meta.data} is not a valid id.`, [{ field: meta.data ?? 'id', message: 'must be an id' }]),
      );
    return foldIdCase(value);
  }
}

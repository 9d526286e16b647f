// Field errors as the API names them: class-validator's default sentence of `@Matches` quotes its regular expression,
// which the TCP transport's payloads showed clients (probe 16, F4).
import { IsString, Matches, validateSync } from 'class-validator';
import { ID_PATTERN } from './dtos';
import { ID_REGEX, fieldErrors } from './field-errors';

class Payload {
  @IsString() @Matches(ID_PATTERN) userId!: string;
  @IsString() @Matches(/^[a-z]+$/) code!: string;
  @IsString() @Matches(/^x$/, { message: 'must be x' }) own!: string;
}

const errorsOf = (value: object) => fieldErrors(validateSync(Object.assign(new Payload(), value)));

it('an id that is not one "must be a valid id", as a path parameter says; another pattern "is not in the expected format"; a message of its own stays', () => {
  expect(String(ID_PATTERN)).toBe(ID_REGEX);
  expect(errorsOf({ userId: 'a b', code: 'A1', own: 'y' })).toEqual([
    { field: 'userId', message: 'must be a valid id' },
    { field: 'code', message: 'is not in the expected format' },
    { field: 'own', message: 'must be x' },
  ]);
  expect(errorsOf({ userId: 'u-1', code: 'ab', own: 'x' })).toEqual([]);
});

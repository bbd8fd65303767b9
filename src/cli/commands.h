/* The commands of the avemo tool, one file each (src/cli/cmd_<name>.c): argv[0] is the command's name, the
 * return value the exit status (cli/cli_util.h). main.c's table lists them. */
#ifndef AVEMO_CLI_COMMANDS_H
#define AVEMO_CLI_COMMANDS_H

int cmd_features(int argc, char **argv);
int cmd_frft(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_faces(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_classify_imagenet(int argc, char **argv);
int cmd_prep(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_average(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_predict(int argc, char **argv);

#endif
